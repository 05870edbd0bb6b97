import type { DetectorDefinition } from './detector';

/**
 * Every detector, in the order they run. An explicit, type-checked list: a detector that is
 * not here does not exist, and a test checks each has docs, samples and a golden output.
 */
export const DETECTORS: readonly DetectorDefinition[] = [];
