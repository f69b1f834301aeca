import { randomBytes } from 'node:crypto';

/** 12 lowercase hex characters: short to type, path-safe, 48 bits of randomness. */
export const JOB_ID_PATTERN = /^[0-9a-f]{12}$/;

export const newJobId = () => randomBytes(6).toString('hex');

export const isJobId = (value: string) => JOB_ID_PATTERN.test(value);
