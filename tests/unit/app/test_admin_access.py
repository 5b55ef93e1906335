from app.admin_access import AdminAccess, bearer


def test_open_without_admin_keys() -> None:
    assert AdminAccess([]).allows(None)


def test_needs_one_of_the_keys_as_bearer() -> None:
    access = AdminAccess(["admin-one", "admin-two"])
    assert access.allows("Bearer admin-two")
    assert access.allows("bearer  admin-one ")
    assert not access.allows(None)
    assert not access.allows("Bearer admin-three")
    assert not access.allows("admin-one")  # no scheme
    assert not access.allows("Basic admin-one")


def test_bearer_token() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("Bearer ") is None
    assert bearer(None) is None
