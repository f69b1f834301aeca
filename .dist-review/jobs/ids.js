import { randomBytes } from 'node:crypto';
/** 12 lowercase hex characters: short to type, path-safe, 48 bits of randomness. */
export const JOB_ID_PATTERN = /^[0-9a-f]{12}$/;
export const newJobId = () => randomBytes(6).toString('hex');
export const isJobId = (value) => JOB_ID_PATTERN.test(value);
/** The shortest id prefix accepted for a whole id: 4 hex characters, 65,536 values, rarely shared. */
export const MIN_ID_PREFIX = 4;
/** A whole id or the start of one, as people type them (git and docker take prefixes too). */
export const JOB_ID_PREFIX_PATTERN = new RegExp(`^[0-9a-f]{${MIN_ID_PREFIX},12}$`);
//# sourceMappingURL=ids.js.map