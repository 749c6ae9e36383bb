/** A write named rows (controls, requests…) that do not exist; `field` is the input field that held them. */
export class UnknownReferenceError extends Error {
  override name = 'UnknownReferenceError';
  constructor(
    readonly field: string,
    readonly ids: string[],
  ) {
    super(`${field}: unknown id(s) ${ids.join(', ')}`);
  }
}

/** The connection's password was erased by a disconnect; it needs new credentials before it can be used. */
export class ConnectionDisconnectedError extends Error {
  override name = 'ConnectionDisconnectedError';
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} has no stored password (it was disconnected); reconnect it with new credentials`);
  }
}
