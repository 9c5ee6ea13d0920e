//! Folders and clouds: the configured ones exist, unknown ones are PERMISSION_DENIED.

use tonic::Code;
use yc_iam::emulator::Emulator;
use yc_iam::proto::yandex::cloud::resourcemanager::v1::{
    GetCloudRequest, GetFolderRequest, ListCloudsRequest, ListFoldersRequest,
};

use super::support::clients;

const CLOUD: &str = "b1gtestcloud00000001";

#[tokio::test]
async fn configured_folders_and_clouds_exist_and_unknown_ones_are_denied() {
    let emu = Emulator::builder()
        .with_cloud(CLOUD)
        .with_folder("b1gtestfolder0000001")
        .with_folder("b1gtestfolder0000002")
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let folder = c
        .folders
        .get(GetFolderRequest {
            folder_id: "b1gtestfolder0000001".into(),
        })
        .await
        .expect("get");
    assert_eq!(folder.into_inner().cloud_id, CLOUD);
    let folders = c
        .folders
        .list(ListFoldersRequest {
            cloud_id: CLOUD.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(folders.folders.len(), 1);
    assert!(!folders.next_page_token.is_empty());
    let cloud = c
        .clouds
        .get(GetCloudRequest { cloud_id: CLOUD.into() })
        .await
        .expect("cloud")
        .into_inner();
    assert_eq!(cloud.id, CLOUD);
    let clouds = c
        .clouds
        .list(ListCloudsRequest::default())
        .await
        .expect("clouds")
        .into_inner();
    assert_eq!(clouds.clouds.len(), 1);

    let err = c
        .folders
        .get(GetFolderRequest {
            folder_id: "b1gnosuchfolder00001".into(),
        })
        .await;
    assert_eq!(err.expect_err("unknown folder").code(), Code::PermissionDenied);
    let err = c
        .clouds
        .get(GetCloudRequest {
            cloud_id: "b1gnosuchcloud000001".into(),
        })
        .await;
    assert_eq!(err.expect_err("unknown cloud").code(), Code::PermissionDenied);
    let err = c
        .folders
        .list(ListFoldersRequest {
            cloud_id: "b1gnosuchcloud000001".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(err.expect_err("unknown cloud").code(), Code::PermissionDenied);
}
