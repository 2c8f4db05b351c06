package tlog

// LogEntry is the Rekor v1 response for entries: a map from entry ID (or,
// for older logs, UUID) to the entry.
type LogEntry map[string]LogEntryValue

// LogEntryValue is one entry of a [LogEntry].
type LogEntryValue struct {
	Body           []byte        `json:"body"` // canonical JSON; base64 on the wire
	IntegratedTime int64         `json:"integratedTime"`
	LogID          string        `json:"logID"`    // hex SHA-256 of the log key's DER SPKI
	LogIndex       int64         `json:"logIndex"` // global index
	Verification   *Verification `json:"verification,omitempty"`
}

// Verification holds the SET and the inclusion proof of an entry.
type Verification struct {
	InclusionProof       *InclusionProof `json:"inclusionProof,omitempty"`
	SignedEntryTimestamp []byte          `json:"signedEntryTimestamp,omitempty"` // base64 on the wire
}

// InclusionProof is an RFC 6962 inclusion proof, hashes hex, leaf to root.
type InclusionProof struct {
	Checkpoint string   `json:"checkpoint"`
	Hashes     []string `json:"hashes"`
	LogIndex   int64    `json:"logIndex"` // index in the shard's tree
	RootHash   string   `json:"rootHash"`
	TreeSize   int64    `json:"treeSize"`
}

// LogInfo is the answer of GET /api/v1/log.
type LogInfo struct {
	RootHash       string `json:"rootHash"`
	TreeSize       int64  `json:"treeSize"`
	SignedTreeHead string `json:"signedTreeHead"`
	TreeID         string `json:"treeID"`
	InactiveShards []any  `json:"inactiveShards"`
}

// ConsistencyProof is the answer of GET /api/v1/log/proof.
type ConsistencyProof struct {
	RootHash string   `json:"rootHash"`
	Hashes   []string `json:"hashes"`
}

// SearchQuery is the body of POST /api/v1/index/retrieve. Set one field.
type SearchQuery struct {
	Hash      string           `json:"hash,omitempty"`
	Email     string           `json:"email,omitempty"`
	Subject   string           `json:"subject,omitempty"`
	PublicKey *SearchPublicKey `json:"publicKey,omitempty"`
	Operator  string           `json:"operator,omitempty"`
}

// SearchPublicKey is a key to search by; Format is "x509" for PEM keys and
// certificates.
type SearchPublicKey struct {
	Format  string `json:"format"`
	Content []byte `json:"content,omitempty"`
}

// RetrieveQuery is the body of POST /api/v1/log/entries/retrieve. Set one field.
type RetrieveQuery struct {
	EntryUUIDs []string     `json:"entryUUIDs,omitempty"`
	LogIndexes []int64      `json:"logIndexes,omitempty"`
	Entries    []RawMessage `json:"entries,omitempty"`
}

// RawMessage is a JSON value kept as is.
type RawMessage = []byte
