/*
 * quantity.h: Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G",
 * "1e3", "2Ki") parsed exactly, without floating point, into integers:
 * milli-units for cpu and other fractional resources, whole units (bytes)
 * for memory and storage. Rounding follows Kubernetes: a value that is not a
 * whole number of the requested unit rounds up (MilliValue()/Value()).
 */
#ifndef KS_CORE_QUANTITY_H
#define KS_CORE_QUANTITY_H

#include <jansson.h>
#include <stdint.h>

/* Parses s into thousandths of a unit ("100m" -> 100, "2" -> 2000,
 * "1Ki" -> 1024000). Negative quantities are valid syntax and come back
 * negative. KS_EINVALID (the message quotes s and says why) on bad syntax,
 * an unknown suffix, or a value that does not fit in int64. */
int ks_quantity_parse_milli(int64_t *out, const char *s);

/* Parses s into whole units, rounding up ("128Mi" -> 134217728,
 * "1.5" -> 2, "100m" -> 1). Same errors as above. */
int ks_quantity_parse_value(int64_t *out, const char *s);

/* Same two, accepting a JSON string or number (YAML `cpu: 2` / `cpu: 0.5`).
 * Any other JSON type is KS_EINVALID. */
int ks_quantity_json_milli(int64_t *out, const json_t *v);
int ks_quantity_json_value(int64_t *out, const json_t *v);

/* Canonical text for a milli-value ("250m", "2") / a byte count ("128Mi",
 * "1500"), as Kubernetes would print it; writes into dst of size cap. */
char *ks_quantity_format_milli(char *dst, unsigned cap, int64_t milli);
char *ks_quantity_format_bytes(char *dst, unsigned cap, int64_t bytes);

#endif
