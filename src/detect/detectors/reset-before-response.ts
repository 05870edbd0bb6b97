import type { DetectorDefinition } from '../detector';

// PLACEHOLDER: being implemented (see anomalies.md); reports nothing yet.
export const resetBeforeResponse: DetectorDefinition = {
  id: 'reset-before-response',
  meta: { description: 'not implemented yet', severity: 'warning', messages: {} },
  create: () => ({}),
};
