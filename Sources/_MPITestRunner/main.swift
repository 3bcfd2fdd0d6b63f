import MPIShim
print(_probe())
