/**
 * Every error code the product raises. Match on `code`, never on the message.
 * Documented in docs/errors.md; a test checks the two agree.
 */
export const ERROR_CODES = {
  CONFIG_FILE_UNREADABLE: 'the config file named with --config cannot be read',
  CONFIG_INVALID: 'the config file or an environment override does not match the schema',
  MODEL_NOT_FOUND: 'the ONNX model file or its JSON card is missing',
  MODEL_CARD_INVALID: 'the model card is not valid JSON or lacks a required field',
  MODEL_CORRUPT: 'onnxruntime cannot load the ONNX file, or its checksum differs from the card',
  MODEL_CARD_MISMATCH: 'the ONNX graph and its card disagree (input/output names, shapes, labels)',
  INFERENCE_FAILED: 'a batch failed inside onnxruntime or its worker thread died',
  INFERENCE_CLOSED: 'inference was requested after the engine was closed',
  CONSOLE_TOKEN_REQUIRED: 'the console would listen on a non-loopback address without a bearer token',
  CONSOLE_LISTEN_FAILED: 'the console HTTP server cannot listen on its host and port',
  RULES_FILE_UNREADABLE: 'the rules file named by `rules` or SER_RULES cannot be read',
  RULES_INVALID: 'the rules file is not valid YAML or a rule does not match the rules language',
  ARI_UNREACHABLE: 'Asterisk ARI cannot be reached (connection refused, DNS, timeout) or its API description cannot be loaded',
  ARI_AUTH_FAILED: 'Asterisk refused the ARI user or password (HTTP 401)',
  ARI_REQUEST_FAILED: 'an ARI REST request was refused by Asterisk; carries the HTTP status, method and resource id',
  ARI_TIMEOUT: 'an ARI REST request got no answer within ari.requestTimeoutMs',
  QUEUE_UNKNOWN: 'Stasis(ser,queue,<name>) named a queue that is not configured',
  AMI_UNREACHABLE: 'the Asterisk Manager Interface cannot be reached or closed the connection',
  AMI_AUTH_FAILED: 'Asterisk refused the AMI user or secret',
  HISTORY_IN_USE: 'the SQLite history file is used by another running ser-ari (one process per file)',
  HISTORY_UNAVAILABLE: 'the call-history database cannot be opened (SQLite file, or PostgreSQL unreachable / refused)',
  AMI_ACTION_FAILED: 'Asterisk answered an AMI action with an error or not in time (e.g. the caller is not in that queue)',
  ESL_UNREACHABLE: 'the FreeSWITCH event socket cannot be reached, or closed the connection',
  ESL_AUTH_FAILED: 'FreeSWITCH refused the event socket password (-ERR invalid)',
  ESL_REQUEST_FAILED: 'FreeSWITCH answered an event socket command with an error (-ERR, -USAGE); carries the command and its reply',
  ESL_TIMEOUT: 'an event socket command got no reply within its deadline',
  ESL_DISCONNECTED: 'an event socket command was pending or issued while the connection was down',
  FORK_LISTEN_FAILED: 'the WebSocket listener for FreeSWITCH audio forks cannot listen on rtp.host and freeswitch.forkPort',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SerError';
    this.code = code;
  }
}
