/** Bad user input, naming the field, so every adapter can show the user what to fix. */
export class ParamError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParamError';
  }
}
