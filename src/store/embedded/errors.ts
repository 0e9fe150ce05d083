/** Server-side errors carrying MongoDB's numeric code and codeName. */
export const CODES = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CannotCreateIndex: 67,
  InvalidIdField: 53,
  Location10334: 10334,
  DuplicateKey: 11000,
  NotImplemented: 238,
  Location15974: 15974,
  Location40352: 40352,
  Unauthorized: 13,
  OperationNotSupportedInTransaction: 263,
  ConversionFailure: 241,
  Location1257300: 1257300,
  Location15975: 15975,
  Location15976: 15976,
  Location16020: 16020,
  Location17124: 17124,
  Location28689: 28689,
  Location28690: 28690,
  Location28691: 28691,
  Location40485: 40485,
  Location40515: 40515,
  Location40516: 40516,
  Location40517: 40517,
  Location5166403: 5166403,
  Location5166405: 5166405,
  Location5439007: 5439007,
  Location5439008: 5439008,
  Location5439012: 5439012,
  Location5439014: 5439014,
  Location5439016: 5439016,
  Location5439017: 5439017,
} as const;

export type CodeName = keyof typeof CODES;

export class ServerError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** Extra fields copied into the error reply (e.g. keyPattern/keyValue). */
  readonly extra: Record<string, unknown>;
  constructor(codeName: CodeName, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = CODES[codeName];
    this.codeName = codeName.startsWith('Location') ? '' : codeName;
    this.extra = extra;
  }
}

/** A refusal for something the embedded store deliberately does not implement. */
export function unsupported(what: string): ServerError {
  return new ServerError(
    'NotImplemented',
    `${what} is not supported by the DealPulse embedded store; set MONGODB_URI to use a full MongoDB server`,
  );
}

/** Converts anything thrown while executing a command into a ServerError. */
export function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // mingo reports invalid operators and expressions as plain Errors: they are bad requests.
  return new ServerError('BadValue', message);
}
