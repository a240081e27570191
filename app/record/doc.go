// Package record defines, as Protocol Buffers, the bodies of the records a
// circle exchanges inside envelopes (posts, reactions, membership, commits,
// presence, guidelines), the messages of the join protocol, and the state a
// member's store keeps of each circle. The generated code is committed;
// `go generate` rebuilds it from record.proto.
package record
