// The mesh shapes, optimizer choices and step plans the cluster model prices live in the
// dependency-free DionCore; `import ClusterModel` brings them along (as `import Sharding` does).
@_exported import DionCore
