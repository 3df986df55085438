// ESM side: the SDK itself, re-exported.
export * from '../../dist/src/index.js';
