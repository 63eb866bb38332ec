/* Built instead of the kernels/ CUDA sources when nvcc is absent: the CUDA backend reports itself missing. */
#include "backend.h"

xrem_status xrem_backend_cuda_create(int device, xrem_backend **out)
{
    (void)device;
    *out = NULL;
    return xrem_fail(XREM_ERR_UNSUPPORTED,
                     "built without CUDA (configure with -DXREM_CUDA=ON where nvcc is installed)");
}

int xrem_backend_cuda_count(void)
{
    return 0;
}
