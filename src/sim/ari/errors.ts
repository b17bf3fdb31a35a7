/**
 * A refusal the simulator answers with, shaped like Asterisk's: `{"message": ...}` for almost
 * everything, `{"error": "Allocation failed"}` when a channel cannot be allocated, an HTML page for
 * the websocket's missing `app`.
 */
export class AriHttpError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, message: string, body?: unknown) {
    super(message);
    this.name = 'AriHttpError';
    this.status = status;
    this.body = body ?? { message };
  }
}

export const notFound = (message: string): AriHttpError => new AriHttpError(404, message);
export const badRequest = (message: string): AriHttpError => new AriHttpError(400, message);
export const conflict = (message: string): AriHttpError => new AriHttpError(409, message);
export const unprocessable = (message: string): AriHttpError => new AriHttpError(422, message);
export const allocationFailed = (): AriHttpError => new AriHttpError(500, 'Allocation failed', { error: 'Allocation failed' });
export const internalError = (): AriHttpError =>
  new AriHttpError(500, 'An internal error prevented this request from being handled');

export const NOT_IN_STASIS = 'Channel not in Stasis application';
