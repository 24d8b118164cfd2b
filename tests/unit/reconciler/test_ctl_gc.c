/*
 * test_ctl_gc.c: garbage collection by ownerReferences on a real store:
 * transitive deletion in one call, dependents kept while any owner lives,
 * an owner recreated under the same name (new uid) orphaning the old
 * dependents, a reference whose kind does not match its uid's object, and
 * objects without owners left alone.
 */
#include "test_ctl_fixture.h"

static json_t *obj(const char *kind, const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "example.io/v1", "kind", kind,
                     "metadata", "name", name, "namespace", "default");
}

/* Stores kind/name owned by the given stored owners (NULL-terminated). */
static void put_owned(struct fixture *f, const char *kind, const char *name, ...)
{
    json_t *o = obj(kind, name), *refs = json_array();
    va_list ap;
    va_start(ap, name);
    for (const json_t *owner; (owner = va_arg(ap, const json_t *));)
        json_array_append_new(refs, ks_ctl_owner_ref(owner));
    va_end(ap);
    ks_ctl_set(o, "metadata", "ownerReferences", refs);
    put_obj(f, o);
}

static bool exists(struct fixture *f, const char *kind, const char *name)
{
    json_t *o = get_obj(f, kind, name);
    json_decref(o);
    return o != NULL;
}

static void del(struct fixture *f, const char *kind, const char *name)
{
    struct ks_store_key key = {kind, "default", name};
    assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), 0);
}

static void gc(struct fixture *f, bool want_changed)
{
    bool changed = false;
    assert_int_equal(ks_ctl_gc_reconcile(&changed, f->store), 0);
    assert_int_equal(changed, want_changed);
}

static void transitive(void **state)
{
    struct fixture *f = *state;
    put_obj(f, obj("Widget", "w"));
    json_t *w = get_obj(f, "Widget", "w");
    put_owned(f, "Gadget", "g", w, NULL);
    json_t *g = get_obj(f, "Gadget", "g");
    put_owned(f, "Gizmo", "z1", g, NULL);
    put_owned(f, "Gizmo", "z2", g, NULL);
    put_obj(f, obj("Gizmo", "free"));
    gc(f, false); /* all owners alive */
    del(f, "Widget", "w");
    gc(f, true);
    assert_false(exists(f, "Gadget", "g"));
    assert_false(exists(f, "Gizmo", "z1"));
    assert_false(exists(f, "Gizmo", "z2"));
    assert_true(exists(f, "Gizmo", "free"));
    gc(f, false);
    json_decref(w);
    json_decref(g);
}

static void any_live_owner_keeps(void **state)
{
    struct fixture *f = *state;
    put_obj(f, obj("Widget", "a"));
    put_obj(f, obj("Widget", "b"));
    json_t *a = get_obj(f, "Widget", "a"), *b = get_obj(f, "Widget", "b");
    put_owned(f, "Gadget", "shared", a, b, NULL);
    del(f, "Widget", "a");
    gc(f, false);
    assert_true(exists(f, "Gadget", "shared"));
    del(f, "Widget", "b");
    gc(f, true);
    assert_false(exists(f, "Gadget", "shared"));
    json_decref(a);
    json_decref(b);
}

static void recreated_owner_has_new_uid(void **state)
{
    struct fixture *f = *state;
    put_obj(f, obj("Widget", "w"));
    json_t *w = get_obj(f, "Widget", "w");
    put_owned(f, "Gadget", "g", w, NULL);
    del(f, "Widget", "w");
    put_obj(f, obj("Widget", "w")); /* same name, new uid */
    gc(f, true);
    assert_false(exists(f, "Gadget", "g"));
    json_decref(w);
}

static void kind_must_match(void **state)
{
    struct fixture *f = *state;
    put_obj(f, obj("Widget", "w"));
    json_t *w = get_obj(f, "Widget", "w");
    json_object_set_new(w, "kind", json_string("Sprocket")); /* right uid, wrong kind */
    put_owned(f, "Gadget", "g", w, NULL);
    gc(f, true);
    assert_false(exists(f, "Gadget", "g"));
    assert_true(exists(f, "Widget", "w"));
    json_decref(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(transitive, setup, teardown),
        cmocka_unit_test_setup_teardown(any_live_owner_keeps, setup, teardown),
        cmocka_unit_test_setup_teardown(recreated_owner_has_new_uid, setup, teardown),
        cmocka_unit_test_setup_teardown(kind_must_match, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
