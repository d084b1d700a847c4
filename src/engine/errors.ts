/**
 * Bad user input, naming the field (e.g. "steps", "options.<name>", "timesteps"). The one error type
 * for it: the engine's checks throw it, the service re-exports it, and each front end maps it once
 * (HTTP 400 JSON, a private chat reply, CLI exit code 2).
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
