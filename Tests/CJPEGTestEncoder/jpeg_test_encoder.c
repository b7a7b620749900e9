// A JPEG writer for the tests only (Amnesia itself never writes JPEGs): it lets the tests
// make baseline, progressive, gray, RGB, CMYK and EXIF-rotated files without fixtures.
#include "jpeg_test_encoder.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

struct error_manager {
    struct jpeg_error_mgr pub;
    jmp_buf escape;
};

static void error_exit(j_common_ptr cinfo) { longjmp(((struct error_manager *)cinfo->err)->escape, 1); }

unsigned char *amnesia_test_jpeg_encode(const unsigned char *pixels, int width, int height, int channels,
                                        int quality, int progressive, const unsigned char *exif,
                                        size_t exif_size, size_t *size) {
    struct jpeg_compress_struct cinfo;
    struct error_manager errors;
    unsigned char *volatile buffer = NULL;
    unsigned long length = 0;
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = error_exit;
    if (setjmp(errors.escape)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return NULL;
    }
    jpeg_create_compress(&cinfo);
    unsigned char *out = NULL;
    jpeg_mem_dest(&cinfo, &out, &length);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : channels == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    if (exif != NULL) jpeg_write_marker(&cinfo, JPEG_APP0 + 1, exif, (unsigned int)exif_size);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)channels);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    buffer = out;
    jpeg_destroy_compress(&cinfo);
    *size = length;
    return buffer;
}
