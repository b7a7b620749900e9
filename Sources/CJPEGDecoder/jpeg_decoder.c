// libjpeg reports errors through a callback that must not return (its default calls exit()),
// so decoding runs under setjmp and the callbacks longjmp back with the message. Swift cannot
// call setjmp, hence this file.
#include "jpeg_decoder.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

struct error_manager {
    struct jpeg_error_mgr pub;
    jmp_buf escape;
    char *message;
    int status;
};

struct scan_limit {
    struct jpeg_progress_mgr pub;
    int max_scans;
};

static void fail(j_common_ptr cinfo, int status) {
    struct error_manager *errors = (struct error_manager *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(errors->message, 256, "%s", text);
    errors->status = status;
    longjmp(errors->escape, 1);
}

static void error_exit(j_common_ptr cinfo) { fail(cinfo, AMNESIA_JPEG_CORRUPT); }

// Level -1 is a warning: corrupt or missing data that libjpeg would paper over (a truncated
// file decodes with its missing rows gray). An image is refused rather than guessed.
static void emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) fail(cinfo, AMNESIA_JPEG_CORRUPT);
}

static void check_scans(j_common_ptr cinfo) {
    struct scan_limit *limit = (struct scan_limit *)cinfo->progress;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > limit->max_scans) {
        struct error_manager *errors = (struct error_manager *)cinfo->err;
        snprintf(errors->message, 256, "more than %d progressive scans", limit->max_scans);
        errors->status = AMNESIA_JPEG_CORRUPT;
        longjmp(errors->escape, 1);
    }
}

void amnesia_jpeg_free(struct amnesia_jpeg_image *image) {
    free(image->pixels);
    free(image->exif);
    image->pixels = NULL;
    image->exif = NULL;
    image->exif_size = 0;
}

static void keep_exif(j_decompress_ptr cinfo, struct amnesia_jpeg_image *out) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            out->exif = malloc(m->data_length);
            if (out->exif == NULL) return;  // orientation is then unknown, as without EXIF
            memcpy(out->exif, m->data, m->data_length);
            out->exif_size = m->data_length;
            return;
        }
    }
}

int amnesia_jpeg_decode(const unsigned char *data, size_t size, size_t max_bytes, int max_scans,
                        struct amnesia_jpeg_image *out) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    struct error_manager errors;
    struct scan_limit limit;
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = error_exit;
    errors.pub.emit_message = emit_message;
    errors.message = out->message;
    errors.status = AMNESIA_JPEG_OK;
    // Written after setjmp and read after longjmp: volatile, so the value is not lost in a register.
    unsigned char *volatile pixels = NULL;
    if (setjmp(errors.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        amnesia_jpeg_free(out);
        return errors.status;
    }
    jpeg_create_decompress(&cinfo);
    limit.pub.progress_monitor = check_scans;
    limit.max_scans = max_scans;
    cinfo.progress = &limit.pub;
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    // Saved markers live until jpeg_finish_decompress, which frees them.
    keep_exif(&cinfo, out);
    out->color_space = (int)cinfo.jpeg_color_space;
    out->components = cinfo.num_components;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    default:
        snprintf(out->message, sizeof out->message, "colour space %d with %d components", (int)cinfo.jpeg_color_space, cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        return AMNESIA_JPEG_UNSUPPORTED_COLOR;
    }
    size_t channels = cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
    size_t width = cinfo.image_width, height = cinfo.image_height;
    out->width = (int)width;
    out->height = (int)height;
    out->channels = (int)channels;
    // Both sides are below 2^16, so the product cannot overflow a 64-bit size_t.
    if (width == 0 || height == 0 || width * height * channels > max_bytes) {
        snprintf(out->message, sizeof out->message, "%zux%zu with %zu channels", width, height, channels);
        jpeg_destroy_decompress(&cinfo);
        return AMNESIA_JPEG_TOO_LARGE;
    }
    // Progressive files keep every coefficient (2 bytes per sample) while decoding.
    cinfo.mem->max_memory_to_use = (long)(4 * max_bytes + (16 << 20));
    pixels = malloc(width * height * channels);
    if (pixels == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return AMNESIA_JPEG_NO_MEMORY;
    }
    jpeg_start_decompress(&cinfo);
    size_t stride = width * channels;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->pixels = pixels;
    return AMNESIA_JPEG_OK;
}
