/** No session with that id (the API answers 404). */
export class SessionNotFoundError extends Error {
  constructor(readonly sessionId: string) {
    super(`no session ${sessionId}`);
    this.name = 'SessionNotFoundError';
  }
}
