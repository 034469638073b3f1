/* ntskey: key and certificate management for ntsd (issue 5). This file
 * is the command line; ntskey_sym.c handles symmetric key files,
 * ntskey_cert.c certificates, ntskey_cookie.c NTS cookie master keys and
 * ntskey_io.c the atomic output files. */
#include "config.h"

#include "tools/ntskey.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crypto/secret.h"

static const char usage_text[] =
	"Usage: ntskey COMMAND [options] ...\n"
	"Symmetric keys (ntpd key file: \"ID TYPE KEY\", as ntp-keygen -M writes it):\n"
	"  generate [-t TYPE[,TYPE]] [-n COUNT] [--force] FILE\n"
	"        COUNT keys of each TYPE (default 10 AES128CMAC then 10 SHA1), ids 1..N\n"
	"  add [-t TYPE] [--id N] FILE       one random key (default SHA1, next free id)\n"
	"  remove FILE ID...                 remove keys\n"
	"  list [--show-secrets] FILE        ids, types and sizes (keys only on request)\n"
	"  export [--to ntp|chrony] [-o OUT [--force]] FILE ID...\n"
	"        the given keys for a client, to stdout or OUT\n"
	"  convert --to chrony|ntp [-o OUT [--force]] FILE\n"
	"        ntp key file to chrony's format (ID TYPE HEX:KEY) or back\n"
	"  TYPE: MD5, SHA1, SHA224, SHA256, SHA384, SHA512, AES128CMAC (chrony: AES128)\n"
	"NTS certificates:\n"
	"  cert [--days N] [--name DNS]... [--ip ADDR]... [--ed25519]\n"
	"       [--force] --key KEYOUT --cert CERTOUT\n"
	"        a P-256 (or Ed25519) key and a self-signed certificate for NTS-KE;\n"
	"        names default to this host's name; validity 365 days\n"
	"  csr [--name DNS]... [--ip ADDR]... [--ed25519] [--force]\n"
	"       --key KEYOUT --csr CSROUT\n"
	"        a key and a certificate signing request for a CA\n"
	"  cert-info CERT [--key KEY]        names, validity, issuer, key match (as ntsd)\n"
	"NTS cookie master keys (default FILE: " NTSD_STATEDIR "/nts-masterkeys):\n"
	"  cookie list [FILE]                ids, creation times, status (never the keys)\n"
	"  cookie rotate [--force] [FILE]    a new current key; older keys stay valid\n"
	"  cookie retire [--force] ID [FILE] remove a key that is no longer current\n"
	"Files are written atomically with mode 0600; an existing output file is\n"
	"refused without --force (add, remove and cookie edit their file in place).\n"
	"Exit status: 0 success, 1 a file problem or a refused operation, 2 usage error.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return ntskey_usage_error("%s", "missing command");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    (i == 1 && strcmp(cmd, "help") == 0)) {
			fputs(usage_text, stdout);
			return NTSKEY_EXIT_OK;
		}
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("ntskey %s (%s)\n", NTSD_VERSION, NTSD_TLS_BACKEND);
		return NTSKEY_EXIT_OK;
	}
	if (!secret_init()) {
		ntskey_err("error: cannot initialise libsodium");
		return NTSKEY_EXIT_FAIL;
	}
	argc--;
	argv++;
	optind = 1;
	if (strcmp(cmd, "generate") == 0)
		return ntskey_generate_main(argc, argv);
	if (strcmp(cmd, "add") == 0)
		return ntskey_add_main(argc, argv);
	if (strcmp(cmd, "remove") == 0)
		return ntskey_remove_main(argc, argv);
	if (strcmp(cmd, "list") == 0)
		return ntskey_list_main(argc, argv);
	if (strcmp(cmd, "export") == 0)
		return ntskey_export_main(argc, argv, false);
	if (strcmp(cmd, "convert") == 0)
		return ntskey_export_main(argc, argv, true);
	if (strcmp(cmd, "cert") == 0)
		return ntskey_cert_main(argc, argv, false);
	if (strcmp(cmd, "csr") == 0)
		return ntskey_cert_main(argc, argv, true);
	if (strcmp(cmd, "cert-info") == 0)
		return ntskey_cert_info_main(argc, argv);
	if (strcmp(cmd, "cookie") == 0)
		return ntskey_cookie_main(argc, argv);
	return ntskey_usage_error("unknown command '%s'; commands: generate, add, remove, list, export, "
	                   "convert, cert, csr, cert-info, cookie",
	                   cmd);
}
