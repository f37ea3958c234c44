#define BOOST_TEST_MODULE rnngraph
#include <boost/test/unit_test.hpp>
