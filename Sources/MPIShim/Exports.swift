// The ring-cost formulas the ledger records live in the dependency-free DionCore (the cluster
// model prices plans with the same ones); `import MPIShim` brings them along.
@_exported import DionCore
