// An ES module with an async handler: the returned value is the result, a rejection the error.
// No callback is involved. GREETING comes from environmentVariables in functions/template.yml.
export async function handler(event, context) {
  const text = event.toString('utf8');
  const greeting = process.env.GREETING ?? 'Hello from edgefc asynchello';
  return {
    greeting: `${greeting}, ${text === '' ? 'stranger' : text}`,
    bytes: event.length,
    requestId: context.requestId,
  };
}
