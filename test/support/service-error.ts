/** An AWS service exception as the SDK v3 throws it: its name is the service's error code. */
export function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: 400 } });
}
