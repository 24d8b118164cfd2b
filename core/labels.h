/*
 * labels.h: Kubernetes labels and label selectors.
 *
 * A selector is parsed once (from the string form `app=web,tier!=db,
 * env in (a,b),!legacy,canary` or from the JSON form {matchLabels,
 * matchExpressions}) into a ks_selector and then matched against label sets
 * (JSON objects of string values) many times without allocating.
 * Semantics follow k8s.io/apimachinery/pkg/labels: all requirements must
 * hold; an empty selector matches everything; a NULL selector (absent
 * field in places where Kubernetes says "matches nothing") is the caller's
 * decision.
 */
#ifndef KS_CORE_LABELS_H
#define KS_CORE_LABELS_H

#include <jansson.h>
#include <stdbool.h>

struct ks_selector; /* opaque */

/* Parses the string form. *out is owned by the caller (ks_selector_free). */
int ks_selector_parse(struct ks_selector **out, const char *text);

/* Parses a LabelSelector object ({matchLabels: {...}, matchExpressions:
 * [{key, operator: In|NotIn|Exists|DoesNotExist, values: [...]}]}).
 * A JSON null or {} gives the empty (match-everything) selector. */
int ks_selector_from_json(struct ks_selector **out, const json_t *selector);

/* labels: JSON object of string values, or NULL (= no labels). */
bool ks_selector_matches(const struct ks_selector *sel, const json_t *labels);

bool ks_selector_is_empty(const struct ks_selector *sel);

/* Canonical string form ("app=web,env in (a,b)"); malloc'd, caller frees. */
char *ks_selector_to_string(const struct ks_selector *sel);

void ks_selector_free(struct ks_selector *sel);

/* Validates a label key ([prefix/]name: prefix a DNS-1123 subdomain <= 253,
 * name <= 63 of [A-Za-z0-9._-] starting and ending alphanumeric) and a
 * value (<= 63, same alphabet, may be empty). KS_EINVALID with the reason. */
int ks_label_key_validate(const char *key);
int ks_label_value_validate(const char *value);

/* Validates every key/value of a labels object. */
int ks_labels_validate(const json_t *labels);

#endif
