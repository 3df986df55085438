/**
 * Request IDs (docs/protocol.md §3.3): nanoid's 21 characters, from an alphabet without `-`.
 *
 * Why not nanoid's default alphabet: one ID in 64 would start with `-`, and every CLI that takes
 * an ID then reads it as an option (`edgefc logs S/F --request-id -jWCn…` fails). Dropping `-`
 * leaves 63 symbols: 21 × log2(63) ≈ 125.5 random bits, against 126.
 */
import { customAlphabet } from 'nanoid';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_';

export const newRequestId: () => string = customAlphabet(ALPHABET, 21);
