package hssapi

// Field lengths of registry connections, as the SDK documents them.
const (
	maxNameLen      = 128
	maxAddrLen      = 256
	maxUserLen      = 128
	maxPasswordLen  = 128
	maxNamespaceLen = 128
	maxClusterIDLen = 64
)
