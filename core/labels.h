/*
 * labels.h: Kubernetes labels and label selectors.
 *
 * A selector is parsed once (from the string form `app=web,tier!=db,
 * env in (a,b),!legacy,canary,gen>3` or from the JSON form {matchLabels,
 * matchExpressions}) into a ks_selector and then matched against label sets
 * (JSON objects of string values) many times without allocating.
 * Semantics follow k8s.io/apimachinery/pkg/labels: all requirements must
 * hold; `!=` and `notin` hold when the key is absent; `>`/`<` compare
 * integers and fail when the key is absent or its value is not an integer;
 * an empty selector matches everything; a NULL selector (absent field in
 * places where Kubernetes says "matches nothing") is the caller's decision.
 */
#ifndef KS_CORE_LABELS_H
#define KS_CORE_LABELS_H

#include <jansson.h>
#include <stdbool.h>

/* Limits on selectors read from outside (KS_ELIMIT naming the limit). */
#define KS_SELECTOR_MAX_TEXT 16384       /* bytes of the string form */
#define KS_SELECTOR_MAX_REQUIREMENTS 256 /* requirements in one selector */
#define KS_SELECTOR_MAX_VALUES 256       /* values of one in/notin requirement */

struct ks_selector; /* opaque */

/* Parses the string form (labels.Parse): comma-separated requirements
 * `k=v`, `k==v`, `k!=v`, `k in (v1,v2)`, `k notin (v)`, `k`, `!k`, `k>n`,
 * `k<n`, whitespace tolerated between tokens. "" is the empty selector.
 * Errors (KS_EINVALID) quote the text and give the 1-based column and the
 * token found ("column 9: found ',', expected an identifier"), or name the
 * key or value that breaks the label syntax rules.
 * *out is owned by the caller (ks_selector_free). */
int ks_selector_parse(struct ks_selector **out, const char *text);

/* Parses a LabelSelector object ({matchLabels: {...}, matchExpressions:
 * [{key, operator: In|NotIn|Exists|DoesNotExist, values: [...]}]}).
 * A JSON null or {} gives the empty (match-everything) selector. In/NotIn
 * need at least one value, Exists/DoesNotExist none; unknown fields,
 * operators and wrong types are KS_EINVALID naming the field
 * ("matchExpressions[1].values: ..."). *out as above. */
int ks_selector_from_json(struct ks_selector **out, const json_t *selector);

/* labels: JSON object of string values, or NULL (= no labels). A key
 * whose value is not a string counts as present with a value that equals
 * no selector value. Never allocates. */
bool ks_selector_matches(const struct ks_selector *sel, const json_t *labels);

bool ks_selector_is_empty(const struct ks_selector *sel);

/* Canonical string form, as Kubernetes' Selector.String(): requirements
 * sorted by key, values sorted and deduplicated, `==` written `=`
 * ("app=web,env in (a,b),!legacy"); "" for the empty selector. The result
 * parses back to an equal selector. malloc'd, caller frees; NULL only when
 * out of memory. */
char *ks_selector_to_string(const struct ks_selector *sel);

void ks_selector_free(struct ks_selector *sel);

/* Validates a label key ([prefix/]name: prefix a DNS-1123 subdomain <= 253,
 * name <= 63 of [A-Za-z0-9._-] starting and ending alphanumeric) and a
 * value (<= 63, same alphabet, may be empty). KS_EINVALID with the reason. */
int ks_label_key_validate(const char *key);
int ks_label_value_validate(const char *value);

/* Validates every key/value of a labels object (values must be strings). */
int ks_labels_validate(const json_t *labels);

#endif
