/*
 * fuzz_config: the configuration file, written to a private directory and
 * read by config_load and config_check as authd serve -n does.  An include
 * names a file of that directory; "fuzz.conf" is the input itself, so a
 * cycle and a fan-out are within the fuzzer's reach (issue 10 #2).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	 fuzz_dir[64], fuzz_path[96];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cfg;
	FILE		*f;
	int		 saved, devnull;

	if (size > 64 * 1024)
		return 0;
	if (fuzz_dir[0] == '\0') {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/dev/shm/authd-fuzz-XXXXXX");
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz.conf", fuzz_dir);
		if (chdir(fuzz_dir) != 0)
			abort();
	}
	if ((f = fopen(fuzz_path, "w")) == NULL)
		return 0;
	if (fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	/* errors go to stderr: keep the fuzzer's output readable */
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	close(devnull);
	config_init(&cfg);
	if (config_load(&cfg, fuzz_path) == 0)
		(void)config_check(&cfg, 0);
	config_cleanup(&cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return 0;
}
