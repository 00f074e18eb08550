// The hop count a proxy adds to what it forwards, so a routing loop ends with an error instead
// of running until something overflows.

export const hopHeader = "x-agentplatform-hops";
