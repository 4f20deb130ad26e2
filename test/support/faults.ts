/**
 * Wraps a real AWS client so chosen calls misbehave, while every other call
 * goes to the emulator untouched. `fault` returns a replacement result (or
 * throws) for the calls it wants to disturb, and undefined to pass through.
 */
export function withFault<T extends object>(
  client: T,
  fault: (command: object, real: (command: object) => Promise<any>) => Promise<unknown> | undefined,
): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      const real = (command: object) => (target as unknown as { send(c: object): Promise<unknown> }).send(command);
      return (command: object) => fault(command, real) ?? real(command);
    },
  });
}

/** An error shaped like an AWS 5xx response (retryable) or a 4xx one (not). */
export function awsError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(`${name} (injected)`), { name, $metadata: { httpStatusCode } });
}
