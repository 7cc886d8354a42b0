/*
 * fuzz_load.c - libFuzzer target: any bytes through sm_machine_load_memory.
 *
 * The loader must refuse or accept every input without crashing, leaking
 * or reading outside its buffers; an accepted machine must be printable
 * as DOT and its ids must be found again through the id index.
 *
 *   cmake -S . -B build-fuzz -DSM_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   make -C build-fuzz fuzz_load
 *   ./build-fuzz/test/fuzz/fuzz_load -max_len=4096 test/load/valid/ test/load/invalid/
 *
 * No base directory is given, so <invoke src=> never touches the file
 * system.  Actions "spider" and "upload" count as registered.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_machine.h"
#include "sm_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
known(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "spider") == 0 || strcmp(name, "upload") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_load_opts opt = { 64 * 1024, 32, known, NULL, 0 };
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	char buf[2048];
	size_t i;
	int rc;

	rc = sm_machine_load_memory((const char *)data, size, "fuzz.scxml", NULL,
	    &opt, &m, &d);
	for (i = 0; i < d.n; i++)
		sm_diag_format(&d.v[i], buf, sizeof buf);
	if ((rc == 0) != (m != NULL))
		abort();
	if (m != NULL) {
		FILE *f = fopen("/dev/null", "w");

		if (f != NULL) {
			sm_machine_graph_dot(m, f);
			fclose(f);
		}
		for (i = 0; i < m->nstates; i++)
			if (sm_machine_state_index(m, m->states[i].id) < 0)
				abort();
		sm_machine_hash_hex(m, buf);
	}
	sm_machine_free(m);
	sm_diags_free(&d);
	return 0;
}
