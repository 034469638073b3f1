/* Master keys: rotation schedule, file round trip, permissions, every load
 * error, and two servers converging on one shared file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "tap.h"

static char dir[] = "/tmp/test_masterkey.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void load_error(const char *text, const char *want, const char *what)
{
	char path[256], err[512] = "";
	snprintf(path, sizeof(path), "%s/bad", dir);
	write_file(path, text, 0600);
	struct masterkey_set *s = masterkey_load(path, err, sizeof(err));
	tap_ok(!s && strstr(err, want) != NULL, "load error: %s (got '%s')", what, err);
	masterkey_set_free(s);
}

int main(void)
{
	char path[256], err[512];
	bool changed;

	secret_init();
	if (!mkdtemp(dir))
		return 1;
	struct masterkey_set *s = masterkey_set_new();
	tap_ok(masterkey_rotate(s, 5000, 100, 3, &changed) && changed && s->n == 1,
	       "the first rotation creates a key");
	tap_ok(masterkey_rotate(s, 5099, 100, 3, &changed) && !changed && s->n == 1,
	       "no rotation before the interval");
	tap_ok(masterkey_rotate(s, 5100, 100, 3, &changed) && changed && s->n == 2 &&
	       masterkey_current(s) == &s->k[1], "rotation after the interval; the new key is current");
	tap_ok(s->k[0].id != s->k[1].id, "ids are unique");
	masterkey_rotate(s, 5200, 100, 3, &changed);
	tap_ok(s->n == 3, "three keys after three intervals");
	masterkey_rotate(s, 5300, 100, 3, &changed);
	tap_ok(s->n == 3 && s->k[0].created == 5100, "keys older than keep intervals are dropped");
	masterkey_rotate(s, 99999, 100, 3, &changed);
	tap_ok(s->n == 1 && s->k[0].created == 99999, "after a long pause only the new key remains");
	tap_ok(masterkey_find(s, s->k[0].id) == &s->k[0] && masterkey_find(s, 0) == NULL,
	       "find by id");

	snprintf(path, sizeof(path), "%s/keys", dir);
	masterkey_rotate(s, 100099, 100, 3, &changed);
	tap_ok(masterkey_save(s, path, err, sizeof(err)), "save");
	struct stat st;
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is 0600");
	struct masterkey_set *l = masterkey_load(path, err, sizeof(err));
	bool same = l && l->n == s->n;
	for (size_t i = 0; same && i < s->n; i++)
		same = l->k[i].id == s->k[i].id && l->k[i].created == s->k[i].created &&
		       !memcmp(l->k[i].key, s->k[i].key, MASTERKEY_LEN);
	tap_ok(same, "load returns what was saved");
	masterkey_set_free(l);
	chmod(path, 0644);
	l = masterkey_load(path, err, sizeof(err));
	tap_ok(!l && strstr(err, "readable by other users"), "a file others can read is refused");
	chmod(path, 0600);

	load_error("# x\n12 34\n", ":2: bad creation time", "missing key");
	load_error("abc 1 00\n", ":1: bad key id", "bad id");
	load_error("0 1 0000000000000000000000000000000000000000000000000000000000000000\n", ":1: bad key id", "id 0");
	load_error("5 1 00000000000000000000000000000000000000000000000000000000000000zz\n", ":1: bad key", "bad hex");
	load_error("5 1 0000\n", ":1: bad key; expected 64 hex digits", "short key");
	load_error("5 1 0000000000000000000000000000000000000000000000000000000000000000\n"
	           "5 2 0000000000000000000000000000000000000000000000000000000000000000\n",
	           ":2: duplicate key id", "duplicate id");
	load_error("# nothing\n", "no keys", "empty file");
	snprintf(path, sizeof(path), "%s/missing", dir);
	l = masterkey_load(path, err, sizeof(err));
	tap_ok(!l && strstr(err, "No such file"), "a missing file names the error");

	/* Two servers sharing one file converge on the same keys. */
	snprintf(path, sizeof(path), "%s/shared", dir);
	struct masterkey_set *a = masterkey_file_sync(path, 1000, 100, 3, &changed, err, sizeof(err));
	tap_ok(a && changed && a->n == 1, "server A creates the shared file with one key");
	struct masterkey_set *b = masterkey_file_sync(path, 1010, 100, 3, &changed, err, sizeof(err));
	tap_ok(b && !changed && b->n == 1 && b->k[0].id == a->k[0].id, "server B adopts A's key");
	masterkey_set_free(b);
	b = masterkey_file_sync(path, 1150, 100, 3, &changed, err, sizeof(err));
	tap_ok(b && changed && b->n == 2, "B rotates when the interval is over");
	masterkey_set_free(a);
	a = masterkey_file_sync(path, 1160, 100, 3, &changed, err, sizeof(err));
	tap_ok(a && !changed && a->n == 2 && a->k[1].id == b->k[1].id &&
	       !memcmp(a->k[1].key, b->k[1].key, MASTERKEY_LEN),
	       "A picks up B's new key instead of making its own");
	char lock[300];
	snprintf(lock, sizeof(lock), "%s.lock", path);
	tap_ok(access(lock, F_OK) == 0, "a lock file serialises the servers");
	write_file(path, "garbage\n", 0600);
	masterkey_set_free(b);
	b = masterkey_file_sync(path, 1170, 100, 3, &changed, err, sizeof(err));
	FILE *f = fopen(path, "r");
	char line[32] = "";
	if (f) {
		fgets(line, sizeof(line), f);
		fclose(f);
	}
	tap_ok(!b && !strcmp(line, "garbage\n"), "a corrupt file is an error and is not overwritten");

	masterkey_set_free(a);
	masterkey_set_free(b);
	masterkey_set_free(s);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
