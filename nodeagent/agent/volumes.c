/*
 * volumes.c: what a pod's containers see of the host: volume directories
 * (emptyDir, hostPath, configMap, secret, downwardAPI, projected) and env
 * values taken from ConfigMaps, Secrets and the downward API. Objects come from the pod's source
 * (get_object), so the same code serves the control plane and static pods. ConfigMap and Secret
 * files are rewritten (atomically, by rename inside the bind-mounted directory) whenever their
 * content or mode differs, so running containers see updates as in Kubernetes.
 */
#include "nodeagent/agent/downward.h"
#include "nodeagent/agent/internal.h"

#include "core/base64.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* base64 (standard alphabet) into a malloc'd buffer, the error naming what. */
static int b64_decode(char **out, size_t *out_len, const char *s, const char *what)
{
    if (ks_base64_decode(out, out_len, s, strlen(s), false) < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ks_error_last());
        return ks_error_set(KS_EINVALID, "%s: %s", what, why);
    }
    return 0;
}

/* The object's keys as {key: {"v": bytes-as-string, "n": length}} with
 * Secret data decoded. */
static int object_data(json_t **out, const json_t *obj, const char *kind, const char *name)
{
    json_t *res = json_object();
    const char *key;
    json_t *val;
    int rc = 0;
    bool secret = strcmp(kind, "Secret") == 0;
    const char *b64key = secret ? "data" : "binaryData";
    const char *plainkey = secret ? "stringData" : "data";
    json_object_foreach(json_object_get(obj, plainkey), key, val)
    {
        if (json_is_string(val))
            json_object_set(res, key, val);
    }
    json_object_foreach(json_object_get(obj, b64key), key, val)
    {
        char *dec = NULL;
        size_t n = 0;
        char what[300];
        if (!json_is_string(val))
            continue;
        snprintf(what, sizeof(what), "%s %s: %s.%s", kind, name, b64key, key);
        if ((rc = b64_decode(&dec, &n, json_string_value(val), what)) < 0)
            goto done;
        json_object_set_new(res, key, json_stringn_nocheck(dec, n));
        free(dec);
    }
done:
    if (rc < 0)
        json_decref(res);
    else
        *out = res;
    return rc;
}

/* Fetches kind/name in ns and returns its data map. optional + absent:
 * *out is an empty object. */
static int fetch_data(json_t **out, struct ks_agent_source *src, const char *kind, const char *ns,
                      const char *name, bool optional)
{
    json_t *obj = NULL;
    if (!name || !*name)
        return ks_error_set(KS_EINVALID, "%s reference without a name", kind);
    int rc = src->ops->get_object(src, &obj, kind, ns, name);
    if (rc == KS_ENOTFOUND && optional) {
        *out = json_object();
        return 0;
    }
    if (rc == KS_ENOTFOUND)
        return ks_error_set(rc, "%s \"%s\" not found in namespace %s",
                            strcmp(kind, "Secret") == 0 ? "secret" : "configmap", name, ns);
    if (rc < 0)
        return ks_error_wrap(rc, "%s %s/%s", kind, ns, name);
    rc = object_data(out, obj, kind, name);
    json_decref(obj);
    return rc;
}

static int write_if_changed(const char *dir, const char *rel, const char *data, size_t len,
                            mode_t mode)
{
    char *path = ks_strdupf("%s/%s", dir, rel), *tmp = NULL;
    struct stat sb;
    int rc = 0, fd = -1;
    if (!path)
        return ks_error_set(KS_ENOMEM, "out of memory");
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if ((rc = ks_mkdir_p(path, 0755)) < 0)
        goto done;
    *slash = '/';
    if (stat(path, &sb) == 0 && (sb.st_mode & 07777) == mode && (size_t)sb.st_size == len) {
        char *cur = NULL;
        size_t n = 0;
        if (ks_file_read(&cur, &n, path, len + 1) == 0 && n == len && memcmp(cur, data, len) == 0) {
            free(cur);
            goto done;
        }
        free(cur);
    }
    if (!(tmp = ks_strdupf("%s/.%s.tmp", dir, strrchr(path, '/') + 1))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || fchmod(fd, mode) < 0 ||
        close(fd) < 0) {
        rc = ks_error_set(KS_EIO, "writing %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) < 0) {
        rc = ks_error_set(KS_EIO, "renaming %s: %s", tmp, strerror(errno));
        unlink(tmp);
    }
done:
    free(tmp);
    free(path);
    return rc;
}

/* Removes regular files at the top of dir that are not in keep. */
static void remove_stale(const char *dir, const json_t *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || json_object_get(keep, e->d_name))
            continue;
        char *p = ks_strdupf("%s/%s", dir, e->d_name);
        struct stat sb;
        if (p && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            unlink(p);
        free(p);
    }
    closedir(d);
}

static bool rel_path_ok(const char *p)
{
    return p && *p && p[0] != '/' && strcmp(p, "..") != 0 && !ks_str_has_prefix(p, "../") &&
           !strstr(p, "/../") && !ks_str_has_suffix(p, "/..");
}

/* A file mode from a volume's defaultMode or an item's mode. */
static int file_mode(json_int_t *out, const json_t *v, const char *what)
{
    if (!json_is_integer(v))
        return 0;
    json_int_t m = json_integer_value(v);
    if (m < 0 || m > 0777)
        return ks_error_set(KS_EINVALID, "%s %lld is not between 0 and 0777", what, (long long)m);
    *out = m;
    return 0;
}

/* Writes one file of a volume and remembers its top-level name in keep. */
static int put_file(const char *dir, json_t *keep, const char *path, const char *data, size_t len,
                    json_int_t mode)
{
    int rc = write_if_changed(dir, path, data, len, (mode_t)mode);
    if (rc == 0) {
        char top[256];
        snprintf(top, sizeof(top), "%.*s", (int)strcspn(path, "/"), path);
        json_object_set_new(keep, top, json_true());
    }
    return rc;
}

/* The files of a configMap or secret (volume or projected source) v:
 * every key, or the listed items, into dir. */
static int write_object_files(struct ks_agent_source *src, const char *ns, const json_t *v,
                              const char *kind, const char *dir, json_int_t dmode, json_t *keep)
{
    bool secret = strcmp(kind, "Secret") == 0;
    const char *name = json_string_value(json_object_get(v, secret ? "secretName" : "name"));
    bool optional = json_is_true(json_object_get(v, "optional"));
    const json_t *items = json_object_get(v, "items");
    json_t *data = NULL;
    int rc;
    if (secret && !name) /* projected secret sources use "name" */
        name = json_string_value(json_object_get(v, "name"));
    if ((rc = fetch_data(&data, src, kind, ns, name, optional)) < 0)
        goto done;
    if (json_is_array(items)) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            const char *key = json_string_value(json_object_get(it, "key"));
            const char *path = json_string_value(json_object_get(it, "path"));
            json_int_t mode = dmode;
            json_t *val = key ? json_object_get(data, key) : NULL;
            if (!rel_path_ok(path) || file_mode(&mode, json_object_get(it, "mode"), "mode") < 0) {
                rc =
                    ks_error_set(KS_EINVALID, "%s %s: items[%zu]: bad path or mode", kind, name, i);
                goto done;
            }
            if (!val) {
                if (optional)
                    continue;
                rc = ks_error_set(KS_ENOTFOUND, "%s %s has no key \"%s\"", kind, name,
                                  key ? key : "");
                goto done;
            }
            if ((rc = put_file(dir, keep, path, json_string_value(val), json_string_length(val),
                               mode)) < 0)
                goto done;
        }
    } else {
        const char *key;
        json_t *val;
        json_object_foreach(data, key, val)
        {
            if (!rel_path_ok(key) || strchr(key, '/'))
                continue;
            if ((rc = put_file(dir, keep, key, json_string_value(val), json_string_length(val),
                               dmode)) < 0)
                goto done;
        }
    }
done:
    json_decref(data);
    return rc;
}

/* The files of a downwardAPI volume (or projected source) v. */
static int write_downward_files(const json_t *pod, const json_t *v, const char *dir,
                                json_int_t dmode, json_t *keep)
{
    size_t i;
    json_t *it;
    int rc = 0;
    json_array_foreach(json_object_get(v, "items"), i, it)
    {
        const char *path = json_string_value(json_object_get(it, "path"));
        const json_t *field = json_object_get(it, "fieldRef");
        const json_t *res = json_object_get(it, "resourceFieldRef");
        json_int_t mode = dmode;
        char *value = NULL;
        if (!rel_path_ok(path) || file_mode(&mode, json_object_get(it, "mode"), "mode") < 0)
            return ks_error_set(KS_EINVALID, "downwardAPI items[%zu]: bad path or mode", i);
        if (field)
            rc = ks_agent_field_value(
                &value, pod, json_string_value(json_object_get(field, "fieldPath")), true, NULL);
        else if (res)
            rc = ks_agent_resource_value(&value, pod, NULL, res);
        else
            rc = ks_error_set(KS_EINVALID,
                              "downwardAPI items[%zu]: needs fieldRef or resourceFieldRef", i);
        if (rc == 0)
            rc = put_file(dir, keep, path, value, strlen(value), mode);
        free(value);
        if (rc < 0)
            return ks_error_wrap(rc, "downwardAPI items[%zu] (%s)", i, path);
    }
    return 0;
}

/* configMap, secret, downwardAPI and projected volumes: files written into
 * dir, files no source names any more removed. */
static int file_volume(const char **reason, struct ks_agent_source *src, const json_t *pod,
                       const char *ns, const json_t *vol, const char *dir)
{
    static const char *const kinds[] = {"configMap", "secret", "downwardAPI", "projected"};
    const char *vname = json_string_value(json_object_get(vol, "name"));
    const json_t *v = NULL;
    json_t *keep = json_object();
    json_int_t dmode = 0644;
    size_t k, i;
    int rc;
    for (k = 0; k < 4 && !(v = json_object_get(vol, kinds[k])); k++)
        ;
    *reason = "CreateContainerConfigError";
    if ((rc = file_mode(&dmode, json_object_get(v, "defaultMode"), "defaultMode")) < 0)
        goto done;
    if ((rc = ks_mkdir_p(dir, 0755)) < 0)
        goto done;
    if (k == 0)
        rc = write_object_files(src, ns, v, "ConfigMap", dir, dmode, keep);
    else if (k == 1)
        rc = write_object_files(src, ns, v, "Secret", dir, dmode, keep);
    else if (k == 2)
        rc = write_downward_files(pod, v, dir, dmode, keep);
    else {
        json_t *s;
        json_array_foreach(json_object_get(v, "sources"), i, s)
        {
            if (json_object_get(s, "configMap"))
                rc = write_object_files(src, ns, json_object_get(s, "configMap"), "ConfigMap", dir,
                                        dmode, keep);
            else if (json_object_get(s, "secret"))
                rc = write_object_files(src, ns, json_object_get(s, "secret"), "Secret", dir, dmode,
                                        keep);
            else if (json_object_get(s, "downwardAPI"))
                rc = write_downward_files(pod, json_object_get(s, "downwardAPI"), dir, dmode, keep);
            else {
                *reason = "UnsupportedVolume";
                rc = ks_error_set(KS_EINVALID,
                                  "sources[%zu]: only configMap, secret and downwardAPI sources "
                                  "are supported (serviceAccountToken and clusterTrustBundle are "
                                  "not)",
                                  i);
            }
            if (rc < 0)
                break;
        }
    }
    if (rc == 0)
        remove_stale(dir, keep);
done:
    json_decref(keep);
    return rc < 0 ? ks_error_wrap(rc, "volume %s", vname ? vname : "?") : 0;
}

int ks_agent_volumes_prepare(json_t **out, const char **out_reason, struct ks_agent_source *src,
                             const json_t *pod, const char *dir, const char *podman_socket,
                             const char *state_dir)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
    const json_t *vols = json_object_get(json_object_get(pod, "spec"), "volumes");
    json_t *map = json_object(), *vol;
    const char *reason = "CreateContainerConfigError";
    size_t i;
    int rc = 0;
    if (!ns)
        ns = "default";
    if (json_array_size(vols) > KS_AGENT_MAX_VOLUMES) {
        rc = ks_error_set(KS_ELIMIT, "spec.volumes: %zu volumes, over the limit of %d",
                          json_array_size(vols), KS_AGENT_MAX_VOLUMES);
        goto done;
    }
    json_array_foreach(vols, i, vol)
    {
        const char *name = json_string_value(json_object_get(vol, "name"));
        char *path = NULL;
        if (!name || !*name || strchr(name, '/') || strcmp(name, "..") == 0 ||
            strcmp(name, ".") == 0) {
            rc = ks_error_set(KS_EINVALID, "spec.volumes[%zu]: bad or missing name", i);
            goto done;
        }
        if (json_object_get(vol, "hostPath")) {
            const json_t *hp = json_object_get(vol, "hostPath");
            const char *p = json_string_value(json_object_get(hp, "path"));
            const char *type = json_string_value(json_object_get(hp, "type"));
            struct stat sb;
            if ((rc = ks_agent_hostpath_check(p, podman_socket, state_dir)) < 0) {
                reason = "ForbiddenHostPath";
                rc = ks_error_wrap(rc, "volume %s", name);
                goto done;
            }
            if (type && strcmp(type, "DirectoryOrCreate") == 0) {
                if ((rc = ks_mkdir_p(p, 0755)) < 0)
                    goto done;
            } else if (type && strcmp(type, "Directory") == 0) {
                if (stat(p, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                    reason = "HostPathMissing";
                    rc = ks_error_set(KS_ENOTFOUND, "volume %s: hostPath %s is not a directory",
                                      name, p);
                    goto done;
                }
            } else if (type && (strcmp(type, "File") == 0 || strcmp(type, "Socket") == 0)) {
                if (stat(p, &sb) < 0) {
                    reason = "HostPathMissing";
                    rc = ks_error_set(KS_ENOTFOUND, "volume %s: hostPath %s does not exist", name,
                                      p);
                    goto done;
                }
            }
            json_object_set_new(map, name, json_string(p));
            continue;
        }
        if (!(path = ks_strdupf("%s/%s", dir, name))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if (json_object_get(vol, "emptyDir")) {
            if ((rc = ks_mkdir_p(path, 0755)) == 0 && chmod(path, 0777) < 0)
                rc = ks_error_set(KS_EIO, "chmod %s: %s", path, strerror(errno));
        } else if (json_object_get(vol, "configMap") || json_object_get(vol, "secret") ||
                   json_object_get(vol, "downwardAPI") || json_object_get(vol, "projected")) {
            rc = file_volume(&reason, src, pod, ns, vol, path);
        } else {
            reason = "UnsupportedVolume";
            rc = ks_error_set(KS_EINVALID,
                              "volume %s: only emptyDir, hostPath, configMap, secret, downwardAPI "
                              "and projected are supported",
                              name);
        }
        if (rc == 0)
            json_object_set_new(map, name, json_string(path));
        free(path);
        if (rc < 0)
            goto done;
    }
done:
    if (rc < 0) {
        *out_reason = reason;
        json_decref(map);
    } else {
        *out = map;
    }
    return rc;
}

int ks_agent_env_resolve(json_t **out, struct ks_agent_source *src, const json_t *pod,
                         const json_t *container, const struct ks_agent_pod_facts *facts)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
    json_t *copy = json_deep_copy(container), *env = json_array(), *e, *data = NULL;
    size_t i;
    int rc = 0;
    if (!ns)
        ns = "default";
    json_array_foreach(json_object_get(container, "envFrom"), i, e)
    {
        const json_t *ref = json_object_get(e, "configMapRef");
        const char *kind = "ConfigMap";
        if (!ref) {
            ref = json_object_get(e, "secretRef");
            kind = "Secret";
        }
        const char *prefix = json_string_value(json_object_get(e, "prefix"));
        if ((rc = fetch_data(&data, src, kind, ns, json_string_value(json_object_get(ref, "name")),
                             json_is_true(json_object_get(ref, "optional")))) < 0)
            goto done;
        const char *key;
        json_t *val;
        json_object_foreach(data, key, val)
        {
            json_array_append_new(
                env, json_pack("{s:s+, s:O}", "name", prefix ? prefix : "", key, "value", val));
        }
        json_decref(data);
        data = NULL;
    }
    json_array_foreach(json_object_get(container, "env"), i, e)
    {
        const json_t *vf = json_object_get(e, "valueFrom");
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!vf) {
            json_array_append(env, e);
            continue;
        }
        const json_t *ref = json_object_get(vf, "configMapKeyRef");
        const char *kind = "ConfigMap";
        if (!ref && (ref = json_object_get(vf, "secretKeyRef")))
            kind = "Secret";
        if (!ref) {
            char *v = NULL;
            const json_t *field = json_object_get(vf, "fieldRef");
            const json_t *res = json_object_get(vf, "resourceFieldRef");
            if (field)
                rc = ks_agent_field_value(
                    &v, pod, json_string_value(json_object_get(field, "fieldPath")), false, facts);
            else if (res)
                rc = ks_agent_resource_value(&v, pod, container, res);
            else
                rc = ks_error_set(KS_EINVALID, "only configMapKeyRef, secretKeyRef, fieldRef and "
                                               "resourceFieldRef are supported");
            if (rc < 0) {
                rc = ks_error_wrap(rc, "env %s", name ? name : "?");
                goto done;
            }
            json_array_append_new(env, json_pack("{s:s?, s:s}", "name", name, "value", v));
            free(v);
            continue;
        }
        bool optional = json_is_true(json_object_get(ref, "optional"));
        const char *key = json_string_value(json_object_get(ref, "key"));
        if ((rc = fetch_data(&data, src, kind, ns, json_string_value(json_object_get(ref, "name")),
                             optional)) < 0)
            goto done;
        json_t *val = key ? json_object_get(data, key) : NULL;
        if (!val && !optional) {
            rc =
                ks_error_set(KS_ENOTFOUND, "env %s: %s %s has no key \"%s\"", name ? name : "?",
                             kind, json_string_value(json_object_get(ref, "name")), key ? key : "");
            goto done;
        }
        if (val)
            json_array_append_new(env, json_pack("{s:s?, s:O}", "name", name, "value", val));
        json_decref(data);
        data = NULL;
    }
    json_object_set(copy, "env", env);
    json_object_del(copy, "envFrom");
done:
    json_decref(data);
    json_decref(env);
    if (rc < 0)
        json_decref(copy);
    else
        *out = copy;
    return rc;
}

void ks_agent_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    if (d) {
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = ks_strdupf("%s/%s", path, e->d_name);
            struct stat sb;
            if (p && lstat(p, &sb) == 0) {
                if (S_ISDIR(sb.st_mode))
                    ks_agent_rmtree(p);
                else
                    unlink(p);
            }
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}
