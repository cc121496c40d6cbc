"""The editor in a real browser: CKEditor loads with the journalists' toolbar and
uploads an image through our view, CSRF token included."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage

from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_journalist_uploads_an_image_from_ckeditor(page):
    """A journalist uploads an image from the editor; it is stored, CSRF included."""
    user = make_user(username="journaliste")
    user.groups.add(Group.objects.get(name="Journaliste"))
    page.goto("/admin/login/")
    page.fill("#id_username", "journaliste")
    page.fill("#id_password", "motdepasse-test")
    page.click("input[type=submit]")
    page.goto("/admin/articles/article/add/")
    page.wait_for_function(
        "window.CKEDITOR && CKEDITOR.instances.id_body "
        "&& CKEDITOR.instances.id_body.status === 'ready'"
    )
    assert page.locator(".cke_button__bold").count() == 1
    assert page.locator(".cke_button__source").count() == 0
    assert page.locator(".cke_button__textcolor").count() == 0

    result = page.evaluate(
        """async () => {
            const editor = CKEDITOR.instances.id_body;
            const canvas = document.createElement('canvas');
            canvas.width = 64; canvas.height = 48;
            const blob = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'));
            const loader = editor.uploadRepository.create(
                new File([blob], 'photo.png', {type: 'image/png'}));
            return await new Promise(resolve => {
                loader.on('uploaded', () => resolve({status: loader.status, url: loader.url}));
                loader.on('error', () => resolve({status: loader.status,
                                                  message: loader.message}));
                loader.upload(editor.config.uploadUrl);
            });
        }"""
    )
    assert result["status"] == "uploaded", result
    assert default_storage.exists(result["url"].removeprefix("/media/"))
