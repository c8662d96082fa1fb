/**
 * The canonical request record: one JSON object per line (JSONL) in training data, tenant uploads and
 * importer output. See `docs/ARCHITECTURE.md` in the shared docs for the field table.
 *
 * @module
 */

/** A request as data: what training, evaluation, importers and the tenant API exchange. */
export interface RequestRecord {
  /** HTTP method, e.g. `GET`. */
  method: string;
  /** Origin-form (`/p?q`) or absolute (`http://h/p?q`) URL; both give the same features. */
  url: string;
  /** Header names are case-insensitive; duplicates (by case) are combined with `, ` as `Headers` does. */
  headers?: Record<string, string>;
  /** Body as text; may be empty, binary-looking or huge (only a prefix is read). */
  body?: string;
  /** 1 = attack, 0 = benign. Required for training, evaluation and adaptation; ignored when scoring. */
  label?: 0 | 1;
  /** `benign`, `sqli`, `xss`, `cmdi`, `traversal`, ... */
  family?: string;
  /** The site the request belongs to. */
  tenant?: string;
}
