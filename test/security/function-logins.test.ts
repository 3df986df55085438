/**
 * Per-function logins for an external broker (gateway/security/function-principals.ts) and
 * FunctionCredentials' derived mode: what the gateway hands an instance is what broker-config
 * derived for the broker, and the gateway's CallPolicy knows who it is.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { FunctionCredentials } from '../../gateway/security/function-credentials.js';
import { deriveFunctionPassword, functionPrincipalName } from '../../gateway/security/function-principals.js';
import { isPrincipalName } from '../../gateway/security/principal.js';

const secret = randomBytes(32);

describe('function principal names', () => {
  test('stable, distinct per function, and valid principal names', () => {
    const name = functionPrincipalName('EdgeFC', 'invoker');
    expect(name).toBe(functionPrincipalName('EdgeFC', 'invoker'));
    expect(name).toMatch(/^fn-[0-9a-f]{16}$/);
    expect(isPrincipalName(name)).toBe(true);
    expect(functionPrincipalName('EdgeFC', 'helloworld')).not.toBe(name);
    // "A/BC" and "AB/C" are different functions.
    expect(functionPrincipalName('A', 'BC')).not.toBe(functionPrincipalName('AB', 'C'));
  });

  test('passwords depend on the secret and the name only', () => {
    const name = functionPrincipalName('EdgeFC', 'invoker');
    expect(deriveFunctionPassword(secret, name)).toBe(deriveFunctionPassword(Buffer.from(secret), name));
    expect(deriveFunctionPassword(secret, name)).toHaveLength(43);
    expect(deriveFunctionPassword(randomBytes(32), name)).not.toBe(deriveFunctionPassword(secret, name));
    expect(deriveFunctionPassword(secret, functionPrincipalName('EdgeFC', 'helloworld'))).not.toBe(deriveFunctionPassword(secret, name));
  });
});

describe('FunctionCredentials, derived', () => {
  test('every instance of a function gets its function\'s login, resolved to a function principal', () => {
    const credentials = new FunctionCredentials();
    credentials.deriveFrom(secret);
    const revoked: string[] = [];
    credentials.onRevoke = (name) => revoked.push(name);
    const first = credentials.issue('instance-1', 'EdgeFC', 'invoker');
    const second = credentials.issue('instance-2', 'EdgeFC', 'invoker');
    const name = functionPrincipalName('EdgeFC', 'invoker');
    expect(first).toEqual({ username: name, password: deriveFunctionPassword(secret, name) });
    expect(second).toEqual(first);
    expect(credentials.principal(name)).toMatchObject({ name, role: 'function', function: 'EdgeFC/invoker' });
    expect(credentials.verify(name, first.password)?.name).toBe(name);
    expect(credentials.verify(name, 'x'.repeat(43))).toBeUndefined();
    // The login stays the function's when an instance stops: the broker still accepts it.
    credentials.revoke('instance-1');
    credentials.revoke('instance-2');
    expect(credentials.principal(name)?.function).toBe('EdgeFC/invoker');
    expect(credentials.current('instance-1')).toBeUndefined();
    expect(revoked).toEqual([]);
  });

  test('without a secret, instances keep their own short-lived logins (embedded broker)', () => {
    const credentials = new FunctionCredentials();
    const first = credentials.issue('instance-1', 'EdgeFC', 'invoker');
    const second = credentials.issue('instance-2', 'EdgeFC', 'invoker');
    expect(first.username).not.toBe(second.username);
    credentials.revoke('instance-1');
    expect(credentials.principal(first.username)).toBeUndefined();
  });
});
