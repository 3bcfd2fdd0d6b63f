// The mesh shapes, layouts and chunking are pure arithmetic in DionCore; `import Sharding`
// brings them along with the MPI-backed mesh and sharded matrices.
@_exported import DionCore
