package bus

// RelayBatch is relayBatch, for the tests.
const RelayBatch = relayBatch
