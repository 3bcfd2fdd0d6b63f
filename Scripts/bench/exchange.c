// Two ranks exchanging N bytes each way, against one way only: on the emulated cluster the exchange
// takes twice the one-way time (docs/cluster.md, "Both directions at once"). Plain MPI, no dion code.
//
//   mpicc -O2 -o /tmp/exchange Scripts/bench/exchange.c
//   bash Scripts/cluster.sh up --hosts 2 --slots 1 --bandwidth 500mbit
//   bash Scripts/cluster.sh mpirun -np 2 /tmp/exchange 2097152
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 2097152;
    if (size != 2 || n < 4 || n > (1L << 30)) {
        if (rank == 0) fprintf(stderr, "usage: mpirun -np 2 exchange BYTES (4 to 2^30)\n");
        MPI_Finalize();
        return 1;
    }
    MPI_Comm comm;  // a duplicate, as dion's communicators are
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    char *out = calloc(n, 1), *in = calloc(2 * n, 1);
    const int iterations = 5, peer = 1 - rank;
    const char *names[] = {"one way (send/recv)", "both ways (sendrecv)", "both ways (allgather)"};
    for (int mode = 0; mode < 3; mode++) {
        MPI_Barrier(comm);
        double start = MPI_Wtime();
        for (int i = 0; i < iterations; i++) {
            if (mode == 0 && rank == 0) MPI_Send(out, (int)n, MPI_BYTE, peer, 0, comm);
            if (mode == 0 && rank == 1) MPI_Recv(in, (int)n, MPI_BYTE, peer, 0, comm, MPI_STATUS_IGNORE);
            if (mode == 1) MPI_Sendrecv(out, (int)n, MPI_BYTE, peer, 0, in, (int)n, MPI_BYTE, peer, 0, comm, MPI_STATUS_IGNORE);
            if (mode == 2) MPI_Allgather(out, (int)n, MPI_BYTE, in, (int)n, MPI_BYTE, comm);
        }
        MPI_Barrier(comm);
        double seconds = (MPI_Wtime() - start) / iterations;
        if (rank == 0) printf("%-22s %ld bytes per direction: %8.2f ms, %7.1f Mbit/s per direction\n", names[mode], n,
                              seconds * 1e3, n * 8 / seconds / 1e6);
    }
    free(out);
    free(in);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}
