# Install rules and packaging (included by CMakeLists.txt once the libraries
# exist). `cmake --install` gives:
#   include/nerve/*.h (version.h generated)   lib/libnerve.so.X.Y.Z + SONAME link + libnerve.a
#   lib/cmake/nerve/   CMake package: find_package(nerve 0.2 REQUIRED), targets
#                      nerve::nerve (shared) and nerve::nerve_static (static)
#   lib/pkgconfig/nerve.pc                    bin/nerve, share/man/man1/nerve.1
#   share/doc/nerve/   README, LICENSE, docs/*.md, examples/
# and `cpack -G DEB` one .deb of all of it (scripts/test-install.sh checks both).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(NERVE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/nerve CACHE STRING
    "Where the CMake package (nerveConfig.cmake) is installed, relative to the prefix")

# Two export sets: the shared library needs nothing from its users, the static
# one needs OpenMP and zlib at their link (nerveConfig.cmake finds them).
install(TARGETS nerve_shared EXPORT nerveTargets)
install(TARGETS nerve_static EXPORT nerveStaticTargets)
install(DIRECTORY include/nerve DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${NERVE_GENERATED_INCLUDE}/nerve/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nerve)

install(EXPORT nerveTargets NAMESPACE nerve:: DESTINATION ${NERVE_INSTALL_CMAKEDIR})
install(EXPORT nerveStaticTargets NAMESPACE nerve:: DESTINATION ${NERVE_INSTALL_CMAKEDIR})
if(TARGET nerve_mpi)
  install(EXPORT nerveMpiTargets NAMESPACE nerve:: DESTINATION ${NERVE_INSTALL_CMAKEDIR})
endif()
configure_package_config_file(cmake/nerveConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/nerveConfig.cmake INSTALL_DESTINATION ${NERVE_INSTALL_CMAKEDIR})
# Compatibility, the same rule as the SONAME (CMakeLists.txt): before 1.0 a
# minor release may change the API and ABI (semantic versioning's 0.y), so
# find_package(nerve 0.2) accepts 0.2.x only; from 1.0 on, any 1.y >= the
# version asked for.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_nerve_compat SameMinorVersion)
else()
  set(_nerve_compat SameMajorVersion)
endif()
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/nerveConfigVersion.cmake
    COMPATIBILITY ${_nerve_compat})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/nerveConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/nerveConfigVersion.cmake DESTINATION ${NERVE_INSTALL_CMAKEDIR})

# nerve.pc. Its prefix is the one the install runs with (cmake --install
# --prefix, or /usr under cpack), not the one configured, so it is written at
# install time from a template holding everything else.
set(NERVE_PC_LIBS_PRIVATE)
foreach(lib IN LISTS OpenMP_C_LIB_NAMES)
  string(APPEND NERVE_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
string(APPEND NERVE_PC_LIBS_PRIVATE " -lm")
string(STRIP "${NERVE_PC_LIBS_PRIVATE}" NERVE_PC_LIBS_PRIVATE)
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(NERVE_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(NERVE_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
set(NERVE_PC_PREFIX "@NERVE_PC_PREFIX@")   # kept for the install-time pass
configure_file(cmake/nerve.pc.in ${CMAKE_CURRENT_BINARY_DIR}/nerve.pc.in @ONLY)
install(CODE "set(NERVE_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/nerve.pc.in\" \"${CMAKE_CURRENT_BINARY_DIR}/nerve.pc\" @ONLY)")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/nerve.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The tool's manual page (src/cli installs the tool), documentation, examples.
if(NERVE_BUILD_CLI)
  install(FILES docs/nerve.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
file(GLOB _nerve_docs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/docs/*.md)
install(FILES README.md LICENSE ${_nerve_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# ---------------------------------------------------------------------------
# CPack: `cpack -G DEB` in the build directory. One package holding the
# library, headers, CMake and pkg-config files, tool and docs (a third-party
# .deb, not Debian's runtime/-dev split). Depends: computed by dpkg-shlibdeps
# (libc6, libgomp1, zlib1g); a shlibs file and the ldconfig trigger come with
# the library. Installed under /usr whatever CMAKE_INSTALL_PREFIX says.
set(CPACK_PACKAGE_NAME nerve)
set(CPACK_PACKAGE_VENDOR "nerve")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "train and run multi-layer perceptrons on CPUs, bit-for-bit reproducibly")
set(CPACK_PACKAGE_DESCRIPTION "nerve is a C11 library (libnerve) and a command-line tool (nerve)
that train feedforward networks with hand-vectorized AVX2, AVX-512 and NEON kernels chosen
at run time, OpenMP threads, and bit-identical results for any thread count and ISA.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_CURRENT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_CONTACT "nerve maintainers <nerve@localhost>" CACHE STRING
    "Maintainer field of the .deb")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/build-.*/")
include(CPack)
