/*
 * Raw Open MPI baseline for `dion bench collectives`: the same operations, sizes, iteration
 * choice and timing as the Swift benchmark (CollectiveBenchmark.swift), with no wrapper.
 * Built by Scripts/bench-collectives.sh with mpicc. Prints the same table and JSON records.
 *
 * usage: collectives [--min-bytes B] [--max-bytes B] [--seconds-per-point S] [--repeats K] [--json FILE]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { ALLREDUCE, REDUCESCATTER, ALLGATHER };
static const char *op_names[] = {"allreduce", "reducescatter", "allgather"};

static MPI_Comm comm, control;

static void run_op(enum op op, const float *in, float *out, int elements, int block) {
    switch (op) {
    case ALLREDUCE: MPI_Allreduce(in, out, elements, MPI_FLOAT, MPI_SUM, comm); break;
    case REDUCESCATTER: MPI_Reduce_scatter_block(in, out, block, MPI_FLOAT, MPI_SUM, comm); break;
    case ALLGATHER: MPI_Allgather(in, block, MPI_FLOAT, out, block, MPI_FLOAT, comm); break;
    }
}

/* Seconds for `iterations` calls, as seen by the slowest rank. */
static double timed_loop(enum op op, const float *in, float *out, int elements, int block, long iterations) {
    MPI_Barrier(control);
    double start = MPI_Wtime();
    for (long i = 0; i < iterations; i++) run_op(op, in, out, elements, block);
    double elapsed = MPI_Wtime() - start, slowest = 0;
    MPI_Allreduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, control);
    return slowest;
}

int main(int argc, char **argv) {
    long min_bytes = 4096, max_bytes = 64L << 20;
    double seconds_per_point = 0.2;
    int repeats = 3;
    const char *json = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--min-bytes")) min_bytes = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-bytes")) max_bytes = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds-per-point")) seconds_per_point = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats")) repeats = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--json")) json = argv[i + 1];
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_dup(MPI_COMM_WORLD, &control);
    int rank, g;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &g);
    FILE *out_json = NULL;
    if (rank == 0 && json) {
        out_json = fopen(json, "w");
        if (!out_json) { fprintf(stderr, "cannot write %s\n", json); MPI_Abort(MPI_COMM_WORLD, 1); }
        fprintf(out_json, "[\n");
    }
    if (rank == 0) {
        printf("raw C MPI collectives: %d ranks, thread level %d\n", g, provided);
        printf("op              bytes     iters    best us    mean us  algbw GB/s  busbw GB/s\n");
    }
    int first = 1;
    for (int o = 0; o < 3; o++) {
        for (long bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
            long elements_l = bytes / (long)sizeof(float) / g * g;
            if (elements_l < g) elements_l = g;
            int elements = (int)elements_l, block = elements / g;
            /* Page-aligned buffers, as the Swift benchmark uses: malloc placement varies with the
               allocation history (heap vs mmap) and changed copy speed by up to 4x here. */
            float *in = NULL, *out = NULL;
            if (posix_memalign((void **)&in, 4096, sizeof(float) * (size_t)elements) ||
                posix_memalign((void **)&out, 4096, sizeof(float) * (size_t)elements)) MPI_Abort(MPI_COMM_WORLD, 1);
            for (int i = 0; i < elements; i++) { in[i] = 1; out[i] = 0; }
            const float *src = in;
            for (int w = 0; w < 3; w++) run_op(o, src, out, elements, block);
            double estimate = timed_loop(o, src, out, elements, block, 3) / 3;
            long iterations = (long)(seconds_per_point / (estimate > 1e-9 ? estimate : 1e-9));
            if (iterations < 5) iterations = 5;
            if (iterations > 100000) iterations = 100000;
            MPI_Bcast(&iterations, 1, MPI_LONG, 0, control);
            double best = 1e30, sum = 0;
            for (int k = 0; k < repeats; k++) {
                double t = timed_loop(o, src, out, elements, block, iterations) / (double)iterations;
                if (t < best) best = t;
                sum += t;
            }
            double mean = sum / repeats;
            double real_bytes = (double)elements * sizeof(float);
            double algbw = real_bytes / best / 1e9;
            double factor = o == ALLREDUCE ? 2.0 * (g - 1) / g : (double)(g - 1) / g;
            if (rank == 0) {
                printf("%-13s %9.0f %8ld %10.2f %10.2f %11.3f %11.3f\n", op_names[o], real_bytes, iterations,
                       best * 1e6, mean * 1e6, algbw, algbw * factor);
                fflush(stdout);
                if (out_json) {
                    fprintf(out_json, "%s{\"op\":\"%s\",\"ranks\":%d,\"bytes\":%.0f,\"seconds\":%.9g,\"mean_seconds\":%.9g,"
                            "\"iterations\":%ld,\"algbw_GBps\":%.6g,\"busbw_GBps\":%.6g,\"implementation\":\"c\"}",
                            first ? "" : ",\n", op_names[o], g, real_bytes, best, mean, iterations, algbw, algbw * factor);
                    first = 0;
                }
            }
            free(in);
            free(out);
        }
    }
    if (out_json) { fprintf(out_json, "\n]\n"); fclose(out_json); }
    MPI_Comm_free(&control);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}
