# `cmake --install BUILD --prefix P`: the libraries and header, a pkg-config
# file, a CMake package (find_package(hakmem CONFIG) gives hakmem::hakmem and
# hakmem::hakmem-static) and the `hakmem` launcher in P/bin.
include(CMakePackageConfigHelpers)

set(HAKMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hakmem)

install(TARGETS hakmem hakmem-static EXPORT hakmemTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/hakmem.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT hakmemTargets NAMESPACE hakmem:: DESTINATION ${HAKMEM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hakmemConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hakmemConfig.cmake INSTALL_DESTINATION ${HAKMEM_CMAKE_DIR})
# The soname stays libhakmem.so.0 across 0.x, so any 0.x no older than the
# version asked for will do.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hakmemConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hakmemConfig.cmake
              ${PROJECT_BINARY_DIR}/hakmemConfigVersion.cmake
  DESTINATION ${HAKMEM_CMAKE_DIR})

# pkg-config wants an absolute prefix, and `cmake --install --prefix` only
# names it at install time, so the .pc file is written then.
set(HAKMEM_PC_FILE ${PROJECT_BINARY_DIR}/hakmem.pc)
install(CODE "
  set(HAKMEM_PC_VERSION \"${PROJECT_VERSION}\")
  set(HAKMEM_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(HAKMEM_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/hakmem.pc.in\" \"${HAKMEM_PC_FILE}\" @ONLY)")
install(FILES ${HAKMEM_PC_FILE} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The launcher finds the library from its own location, so the installed tree
# can move; the build-tree copy (build/bin/hakmem) needs --lib or HAKMEM_LIB.
file(RELATIVE_PATH HAKMEM_BINDIR_TO_LIBDIR
  ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
configure_file(${PROJECT_SOURCE_DIR}/tools/hakmem.in ${PROJECT_BINARY_DIR}/bin/hakmem @ONLY)
install(PROGRAMS ${PROJECT_BINARY_DIR}/bin/hakmem DESTINATION ${CMAKE_INSTALL_BINDIR})
