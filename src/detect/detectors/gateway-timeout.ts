import type { DetectorDefinition } from '../detector';

// PLACEHOLDER: being implemented (see anomalies.md); reports nothing yet.
export const gatewayTimeout: DetectorDefinition = {
  id: 'gateway-timeout',
  meta: { description: 'not implemented yet', severity: 'warning', messages: {} },
  create: () => ({}),
};
