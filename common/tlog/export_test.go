package tlog

// SampleTLE is testTLE for the external tests (package tlog_test), which
// compare the entry codec with the protobuf runtime through tlogpb; tlogpb
// imports tlog, so those tests cannot live in package tlog.
var SampleTLE = testTLE
