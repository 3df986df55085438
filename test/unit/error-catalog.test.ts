import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]));

describe('error catalog', () => {
  it('documents every code in docs/errors.md, and nothing else', () => {
    expect([...documented].sort()).toEqual(Object.values(errors.ErrorCode).sort());
  });

  it('round-trips every code through its wire form with the right class', () => {
    for (const code of Object.values(errors.ErrorCode)) {
      const wire = { code, message: `m-${code}`, errorMessage: 'em', errorType: 'TypeError', stackTrace: ['at x'] };
      const rebuilt = errors.errorFromWire(wire, 'req-1');
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.requestId).toBe('req-1');
      expect(rebuilt).toBeInstanceOf(errors.EdgeFCError);
      expect(rebuilt.name).toMatch(/Error$/);
      expect(errors.errorFromWire(rebuilt.toWire()).code).toBe(code);
    }
  });

  it('keeps FC fields on function errors', () => {
    const error = errors.errorFromWire({
      code: 'HandledInvocationError',
      message: 'boom',
      errorMessage: 'boom',
      errorType: 'RangeError',
      stackTrace: ['at a', 'at b'],
    });
    expect(error).toBeInstanceOf(errors.HandledInvocationError);
    expect(error).toMatchObject({ errorMessage: 'boom', errorType: 'RangeError', stackTrace: ['at a', 'at b'] });
  });

  it('turns unknown or malformed wire errors into InternalError', () => {
    expect(errors.errorFromWire({ code: 'NoSuchCode', message: 'x' }).code).toBe('InternalError');
    expect(errors.errorFromWire('nope').code).toBe('InternalError');
    expect(errors.errorFromWire(null).code).toBe('InternalError');
  });

  it('wraps foreign throwables as InternalError and passes typed ones through', () => {
    const typed = new errors.FunctionNotFoundError('x');
    expect(errors.toEdgeFCError(typed)).toBe(typed);
    const wrapped = errors.toEdgeFCError(new TypeError('bad'));
    expect(wrapped.code).toBe('InternalError');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});
