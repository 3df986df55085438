import { describe, expect, test } from 'vitest';
import { ErrorCode, type EdgeFCError } from '../../src/errors.js';
import { Registry } from '../../gateway/registry/registry.js';
import type { FunctionSpec, ServiceSpec, Template } from '../../gateway/registry/types.js';

function service(name: string): ServiceSpec {
  return { name, description: '', logProject: '', logStore: '', qualifier: 'LATEST', versionId: '' };
}

function fn(serviceName: string, name: string): FunctionSpec {
  return {
    serviceName,
    name,
    description: '',
    runtime: 'nodejs20',
    handler: 'index.handler',
    codeDir: `/code/${serviceName}/${name}`,
    memorySizeMB: 128,
    timeoutMs: 3000,
    initializer: undefined,
    initializationTimeoutMs: 3000,
    instanceConcurrency: 1,
    maxInstances: 2,
    maxQueueLength: 100,
    environmentVariables: {},
  };
}

function template(services: ServiceSpec[], functions: FunctionSpec[]): Template {
  return {
    path: '/etc/edgefc/template.yml',
    identity: { region: 'local', accountId: 'local', credentials: { accessKeyId: 'a', accessKeySecret: 'b', securityToken: 'c' } },
    services,
    functions,
  };
}

const sample = template(
  [service('EdgeFC'), service('Other')],
  [fn('EdgeFC', 'helloworld'), fn('Other', 'zeta'), fn('EdgeFC', 'echo'), fn('Other', 'alpha')],
);

function thrown(action: () => unknown): EdgeFCError {
  try {
    action();
  } catch (err) {
    return err as EdgeFCError;
  }
  throw new Error('expected a throw');
}

describe('Registry', () => {
  test('lookup finds a function with its service, and hands out the same object every time', () => {
    const registry = new Registry(sample);
    const entry = registry.lookup('EdgeFC', 'echo');
    expect(entry.service).toEqual(service('EdgeFC'));
    expect(entry.fn).toEqual(fn('EdgeFC', 'echo'));
    expect(registry.lookup('EdgeFC', 'echo')).toBe(entry);
    expect(registry.find('EdgeFC', 'echo')).toBe(entry);
    expect(registry.find('EdgeFC', 'nope')).toBeUndefined();
    expect(registry.find('Nope', 'echo')).toBeUndefined();
  });

  test('an unknown service is ServiceNotFound, naming the services and the closest one', () => {
    const err = thrown(() => new Registry(sample).lookup('EdgeFc', 'echo'));
    expect(err.code).toBe(ErrorCode.ServiceNotFound);
    expect(err.message).toBe('service "EdgeFc" not found (services: EdgeFC, Other); did you mean "EdgeFC"?');
  });

  test('an unknown function is FunctionNotFound, naming the service\'s functions', () => {
    const registry = new Registry(sample);
    let err = thrown(() => registry.lookup('EdgeFC', 'helloWorld'));
    expect(err.code).toBe(ErrorCode.FunctionNotFound);
    expect(err.message).toBe(
      'function "helloWorld" not found in service "EdgeFC" (functions: helloworld, echo); did you mean "helloworld"?',
    );
    err = thrown(() => registry.lookup('Other', 'echo'));
    expect(err.message).toBe('function "echo" not found in service "Other" (functions: zeta, alpha)');
  });

  test('messages stay bounded for big services and long names', () => {
    const many = Array.from({ length: 500 }, (_, i) => fn('Big', `fn${i}`));
    const registry = new Registry(template([service('Big')], many));
    const err = thrown(() => registry.lookup('Big', 'x'.repeat(10_000)));
    expect(err.code).toBe(ErrorCode.FunctionNotFound);
    expect(err.message).toContain('fn9 and 490 more');
    expect(err.message.length).toBeLessThan(300);
  });

  test('services() and functions() keep template order', () => {
    const registry = new Registry(sample);
    expect(registry.services().map((s) => s.name)).toEqual(['EdgeFC', 'Other']);
    expect(registry.functions().map((f) => `${f.serviceName}/${f.name}`)).toEqual([
      'EdgeFC/helloworld',
      'EdgeFC/echo',
      'Other/zeta',
      'Other/alpha',
    ]);
    expect(registry.functions('Other').map((f) => f.name)).toEqual(['zeta', 'alpha']);
    expect(registry.functions('Nope')).toEqual([]);
    expect(registry.functions()).toBe(registry.functions());
  });

  test('identity and template path come from the template; specs are frozen copies', () => {
    const input = template([service('EdgeFC')], [fn('EdgeFC', 'a')]);
    const registry = new Registry(input);
    expect(registry.identity).toEqual(input.identity);
    expect(registry.templatePath).toBe('/etc/edgefc/template.yml');
    expect(Object.isFrozen(registry.lookup('EdgeFC', 'a').fn)).toBe(true);
    const [first] = input.functions;
    if (first !== undefined) first.timeoutMs = 1;
    expect(registry.lookup('EdgeFC', 'a').fn.timeoutMs).toBe(3000);
  });

  test('a self-contradicting template is refused', () => {
    const dupService = thrown(() => new Registry(template([service('A'), service('A')], [])));
    expect(dupService.code).toBe(ErrorCode.InvalidArgument);
    expect(dupService.message).toBe('service "A" is defined twice');
    const dupFn = thrown(() => new Registry(template([service('A')], [fn('A', 'f'), fn('A', 'f')])));
    expect(dupFn.message).toBe('function "A/f" is defined twice');
    const orphan = thrown(() => new Registry(template([service('A')], [fn('B', 'f')])));
    expect(orphan.message).toBe('function "f" belongs to service "B", which is not defined');
  });
});
