/* SVG line charts of the training curves (`nerve train --plot`).
 *
 * The chart is written by hand as plain SVG 1.1: panels side by side, each
 * with axes, tick labels, grid lines and a legend; one polyline with point
 * markers per series. The x axis is the epoch (first_epoch, first_epoch + 1, ...). NaN values are
 * not drawn (the line is broken there). */
#ifndef NERVE_CLI_SVG_H
#define NERVE_CLI_SVG_H

#include <stddef.h>

typedef struct svg_series {
    const char *label; /* legend text, also the series' id in the file */
    const double *y;   /* y[i] for epoch i + 1; NaN = no value */
    size_t n;
    const char *color; /* any SVG colour, e.g. "#1f77b4" */
    int dashed;
} svg_series;

typedef struct svg_panel {
    const char *title;
    const char *ylabel;
    const svg_series *series;
    size_t n_series;
    int percent;        /* tick labels as percentages of fractions (0.95 -> 95%) */
    size_t first_epoch; /* epoch number of y[0] (0 means 1): resumed runs */
} svg_panel;

/* Writes the chart to `path`. Returns 0, or -1 with errno set when the file
 * cannot be written. `title` (may be NULL) is escaped for XML. */
int svg_write(const char *path, const char *title, const svg_panel *panels, size_t n_panels);

#endif
