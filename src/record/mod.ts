/**
 * The canonical request record and its validation.
 *
 * @module
 */
export type { RequestRecord } from "./record.ts";
