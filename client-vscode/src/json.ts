// Reading the server's untyped JSON: a missing or mistyped field reads as undefined, never throws.

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const asObject = (value: unknown): JsonObject => (isObject(value) ? value : {});

export const asString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

export const asBoolean = (value: unknown): boolean | undefined =>
  typeof value === 'boolean' ? value : undefined;

export const asNumber = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** Dollars to the cent; a positive amount under half a cent reads `<$0.01`, not `$0.00`. */
export const usd = (amount: number): string =>
  amount > 0 && amount < 0.005 ? '<$0.01' : `$${amount.toFixed(2)}`;
