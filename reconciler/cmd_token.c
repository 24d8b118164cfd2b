/*
 * cmd_token.c: `reconcile token create NODE`: mints (or reads back) a node's
 * bearer token in the state dir and prints the command that joins the node
 * to this control plane. Works from the files alone, with or without a
 * running daemon: a running API server reads a node token it has not seen
 * on that node's first request (reconciler/api/tokens.c).
 */
#include "reconciler/api/api.h"
#include "reconciler/cli.h"
#include "reconciler/pipeline.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SERVER "http://127.0.0.1:7480"
#define URL_LIMIT 4096

int ks_cmd_token(int argc, char **argv);

static void usage(FILE *out)
{
    fputs("Usage: reconcile token create NODE [--state-dir DIR] [--server URL]\n"
          "\n"
          "Creates the bearer token of node NODE in <state-dir>/tokens/nodes/NODE (or\n"
          "reads it back when it exists) and prints it with the command that joins the\n"
          "node:\n"
          "  token: <64 hex digits>\n"
          "  nodeagent --server URL --token <token> --name NODE\n"
          "No running control plane is needed.\n"
          "\n"
          "Options:\n"
          "  --state-dir DIR   default $KEELSON_STATE_DIR, /var/lib/keelson as root,\n"
          "                    else ~/.local/state/keelson\n"
          "  --server URL      the URL the node reaches the API at; default\n"
          "                    <state-dir>/api.url, else " DEFAULT_SERVER "\n"
          "  -h, --help        show this help\n",
          out);
}

/* --server, else the first line of <state_dir>/api.url, else the default. */
static int server_url(char **out, const char *flag, const char *state_dir)
{
    char *path = NULL, *text = NULL;
    size_t len = 0;
    int rc = 0;
    if (flag) {
        text = strdup(flag);
    } else if (!(path = ks_strdupf("%s/api.url", state_dir))) {
        text = NULL;
    } else if (access(path, F_OK) != 0) {
        text = strdup(DEFAULT_SERVER);
    } else if ((rc = ks_file_read(&text, &len, path, URL_LIMIT)) != 0) {
        rc = ks_error_wrap(rc, "token: %s", path);
        free(path);
        return rc;
    }
    free(path);
    if (!text)
        return ks_error_set(KS_ENOMEM, "token: out of memory");
    text[strcspn(text, "\r\n")] = '\0';
    if (!*text) {
        free(text);
        return ks_error_set(KS_EINVALID, "token: the server URL is empty");
    }
    *out = text;
    return rc;
}

int ks_cmd_token(int argc, char **argv)
{
    enum { OPT_STATE = 256, OPT_SERVER };
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"server", required_argument, NULL, OPT_SERVER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state_flag = NULL, *server_flag = NULL;
    struct ks_api_tokens *tokens = NULL;
    struct ks_buf dir;
    char tok[KS_API_TOKEN_HEX + 1] = "", *url = NULL;
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_STATE:
            state_flag = optarg;
            break;
        case OPT_SERVER:
            server_flag = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            ks_cli_error("unknown or incomplete option \"%s\" (see reconcile token --help)",
                         argv[optind - 1]);
            return 1;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "create") != 0) {
        ks_cli_error("token: want `reconcile token create NODE` (see reconcile token --help)");
        return 1;
    }
    if (optind + 2 != argc) {
        ks_cli_error(optind + 2 > argc ? "token create: which node? (reconcile token create NODE)"
                                       : "token create: one NODE only");
        return 1;
    }
    const char *node = argv[optind + 1];
    ks_buf_init(&dir, 4096);
    if ((rc = ks_pipeline_state_dir(&dir, state_flag)) != 0 ||
        (rc = ks_api_tokens_load_or_create(&tokens, ks_buf_data(&dir))) != 0 ||
        (rc = ks_api_tokens_node(tok, tokens, node)) != 0 ||
        (rc = server_url(&url, server_flag, ks_buf_data(&dir))) != 0)
        goto done;
    printf("token: %s\n", tok);
    printf("nodeagent --server %s --token %s --name %s\n", url, tok, node);
done:
    if (rc)
        ks_cli_error("%s", ks_error_last());
    OPENSSL_cleanse(tok, sizeof tok);
    free(url);
    ks_api_tokens_free(tokens);
    ks_buf_release(&dir);
    return rc ? 1 : 0;
}
